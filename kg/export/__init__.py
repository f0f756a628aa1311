"""Graph export and import: RDF (rdflib), GraphML, the V_k vocabulary."""
