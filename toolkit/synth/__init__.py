"""The planted-signal synthetic cohort generator (``ctk data synth``)."""
