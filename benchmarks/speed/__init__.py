"""Speed: paired A/B runs against another revision, and timing on other Keras backends."""
