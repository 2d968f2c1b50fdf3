# MobileViT-Small classifier: backbone -> global average pooling -> linear head, 1000 classes.
model = dict(arch="small", num_classes=1000)
