"""Sample warehouse generators: synthetic source tables for development and tests, one
module per source (tables declared once in ``schema``), all seeded by ``warehouse.seed_all``
(`flatexport seed`)."""
