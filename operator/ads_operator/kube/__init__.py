"""The Kubernetes side: the API calls the operator makes outside kopf, and Events."""
