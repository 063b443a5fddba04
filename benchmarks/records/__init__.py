"""Records: the results store and schema, tables, baselines, statistics, published figures."""
