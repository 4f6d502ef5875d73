"""One router per resource: decide, score, retain, admin (health, version, rules reload)."""
