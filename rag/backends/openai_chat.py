"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, LM Studio, llama.cpp's server,
Ollama's /v1) through LangChain's chat model."""

from collections.abc import Iterator

from dossier_core.errors import DossierError
from rag.backends.base import ChatBackend


class OpenAIBackend(ChatBackend):
    def __init__(self, embedder, settings):
        super().__init__(settings)
        if not settings.model:
            raise DossierError(
                "openai backend: no model set; pass --model NAME (e.g. gpt-4o-mini, or the name your server serves)"
            )
        if not settings.api_key and not settings.base_url:
            raise DossierError(
                "openai backend: no API key; set OPENAI_API_KEY, or --base-url for a local server that needs none"
            )
        from langchain_openai import ChatOpenAI

        self._where = settings.base_url or "api.openai.com"
        self._llm = ChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=settings.api_key or "none",  # local servers ignore it, the client insists on one
            timeout=settings.timeout,
            max_retries=0,  # a failure is reported at once, not after silent retries
            temperature=0,
            max_completion_tokens=settings.max_answer_tokens,
            # llama-cpp-python's server ignores max_completion_tokens and writes on to the end of its context.
            extra_body={"max_tokens": settings.max_answer_tokens},
        )

    def _chat(self, messages: list[dict]) -> Iterator[str]:
        import httpx
        import openai

        s = self._settings
        try:
            for chunk in self._llm.stream(messages):
                if chunk.content:
                    yield chunk.content
        except openai.AuthenticationError as e:
            raise DossierError(
                f"openai backend: {self._where} refused the API key ({e.status_code}); check OPENAI_API_KEY"
            ) from e
        except openai.NotFoundError as e:
            raise DossierError(
                f"openai backend: {self._where} has no model '{s.model}' ({e.status_code}); "
                "check --model and --base-url"
            ) from e
        except openai.APITimeoutError as e:
            raise DossierError(
                f"openai backend: {self._where} did not answer within {s.timeout:g} s; "
                "raise --timeout or check the server"
            ) from e
        except (openai.APIConnectionError, httpx.TransportError) as e:
            raise DossierError(
                f"openai backend: lost or could not open the connection to {self._where} ({_cause(e)}); "
                "check --base-url and that the server runs"
            ) from e
        except openai.APIStatusError as e:
            raise DossierError(
                f"openai backend: {self._where} answered {e.status_code}: {_cause(e)}; check --model and --base-url"
            ) from e
        except openai.APIError as e:  # an error event in the middle of the model's stream
            raise DossierError(
                f"openai backend: {self._where} failed while writing the answer: {_cause(e)}; "
                "try again, or check the server's log"
            ) from e


def _cause(error: Exception) -> str:
    """The innermost reason, on one line."""
    while error.__cause__ is not None:
        error = error.__cause__
    return " ".join(str(error).split())[:200] or type(error).__name__
