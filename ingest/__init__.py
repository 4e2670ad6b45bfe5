"""Sources → clean articles → chunks with character offsets."""
