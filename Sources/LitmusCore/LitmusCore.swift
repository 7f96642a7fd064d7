// Placeholder until the litmus agent lands; replaced by the agent's sources.
