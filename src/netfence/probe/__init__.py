"""Probes: jobs planned from the engine (``plan``), runners that answer them (the
engine itself, the lab's real packets: ``runners``), and the comparison of what
was expected with what was observed, as data (``compare``)."""
