# MobileViT-XSmall classifier: backbone -> global average pooling -> linear head, 1000 classes.
model = dict(arch="x_small", num_classes=1000)
