"""The ``pycompose`` command line: thin layer, flags -> options -> backend call -> render."""
