"""The only code that touches the world: files and stdin (later the Kubernetes API, nft, netns)."""
