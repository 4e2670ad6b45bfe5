from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class DossierRetriever(BaseRetriever):
    """LangChain's retriever interface over an Assistant's store."""

    assistant: Any
    k: int
    filters: Any = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return [
            Document(page_content=h.text, metadata={**h.metadata, "chunk_id": h.chunk_id, "score": h.score})
            for h in self.assistant.retrieve(query, k or self.k, self.filters)
        ]
