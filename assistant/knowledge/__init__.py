"""The knowledge base and what is built from it: KB loading, article rendering, embeddings, the vector index and its hot reload. Imports core only."""
