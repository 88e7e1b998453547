"""Text in, scam and grooming risk out: normalisation, features, the trained model and its scoring."""
