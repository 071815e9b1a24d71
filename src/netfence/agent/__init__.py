"""The node agent: desired state → compiled policies → this node's ruleset → one atomic apply."""
