# MobileViT-Small classifier: backbone -> global average pooling -> dropout -> linear head, 1000 classes.
# Dropout 0.1 before the classifier and 0.1 in the transformer layers, label smoothing 0.1: the
# training recipe of the published weights (none of these change inference).
model = dict(arch="small", num_classes=1000, dropout=0.1, drop_rate=0.1, label_smoothing=0.1)
