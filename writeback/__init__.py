"""The push stage: progress (and roll-ups) written back to each CRM, diff-only, batched."""
