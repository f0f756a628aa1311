"""Graph stores behind one interface: the embedded default and Neo4j."""
