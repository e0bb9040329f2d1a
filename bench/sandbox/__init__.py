"""`make bench-sandbox`: what the render sandbox costs per render."""
