from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """A cleaned article. `text` is what offsets point into."""

    id: str
    source: str
    text: str
    content_hash: str
    title: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `article.text[start:end] == text`."""

    article_id: str
    index: int
    text: str
    start: int
    end: int
    tokens: int
    llm_tokens: int
