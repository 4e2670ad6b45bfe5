"""Embedders and the Chroma store of chunks."""
