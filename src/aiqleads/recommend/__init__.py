"""Lead recommendations for agents: candidates, ranking, serving, and their offline evaluation."""
