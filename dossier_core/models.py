from dataclasses import dataclass, field


@dataclass(frozen=True)
class Region:
    """A labelled span of the article text (see ingest.regions for the labels)."""

    label: str
    start: int
    end: int
    page: int | None = None


@dataclass(frozen=True)
class Article:
    """A cleaned article. `text` holds every region, so nothing is lost;
    offsets of regions and chunks point into it."""

    id: str
    source: str
    text: str
    content_hash: str
    title: str | None = None
    metadata: dict = field(default_factory=dict)
    regions: tuple[Region, ...] = ()

    def region_text(self, label: str) -> str:
        return "\n\n".join(self.text[r.start : r.end] for r in self.regions if r.label == label)


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `article.text[start:end] == text`.

    `context` (title and section heading) is prepended to the text that is
    embedded, not to the cited passage; `tokens` counts both.
    """

    article_id: str
    index: int
    text: str
    start: int
    end: int
    tokens: int
    region: str = "body"
    context: str = ""
    page: int | None = None

    @property
    def embedding_text(self) -> str:
        return f"{self.context}\n\n{self.text}" if self.context else self.text
