"""Speed and memory benchmarks, side by side with the peer libraries (see the README)."""
