"""Data files of nianbao (schema, label wordings); read with importlib.resources."""
