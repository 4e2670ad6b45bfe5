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
            # Every field of the hit but its text (chunk_id and score included), leaving out those it lacks.
            Document(page_content=h.text, metadata={f: v for f, v in vars(h).items() if f != "text" and v is not None})
            for h in self.assistant.retrieve(query, k or self.k, self.filters)
        ]
