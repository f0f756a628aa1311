"""The student model: lab encoder, knowledge-augmented attention, wrapper."""
