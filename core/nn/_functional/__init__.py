"""The implementations behind ``ember.nn.functional``, one file per family of layers.
``ember.nn.functional`` re-exports them; a new family (conv, pooling, ...) adds a file
here and one import line there."""
