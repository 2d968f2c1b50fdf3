# MobileViT-XXSmall classifier: backbone -> global average pooling -> linear head, 1000 classes.
model = dict(arch="xx_small", num_classes=1000)
