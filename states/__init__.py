"""The programs: one package per program round, each a declarative definition plus its rules."""
