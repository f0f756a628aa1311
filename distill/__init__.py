"""The distilled student: data, model (lab encoder, KA attention), phases, trainer, evaluation."""
