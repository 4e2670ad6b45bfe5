"""LangChain's standard retriever suite against `Assistant.as_retriever()`, real model and store."""

import tempfile
from functools import cache

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag import Assistant
from rag.retriever import DossierRetriever
from tests.conftest import LIBRARY

pytestmark = pytest.mark.model


@cache
def assistant() -> Assistant:
    a = Assistant(tempfile.mkdtemp(prefix="dossier-langchain-"))
    a.library.ingest([LIBRARY])
    return a


class TestDossierRetriever(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[DossierRetriever]:
        return DossierRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"assistant": assistant(), "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "How much did the harbor bridge cost?"
