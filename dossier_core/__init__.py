"""What every layer shares: the root error, the data models (Article, Chunk, Region) and the text helpers."""
