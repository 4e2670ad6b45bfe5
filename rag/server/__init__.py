"""The HTTP shell: an OpenAI-compatible API, the library API and the MCP server over one Assistant."""
