print("Hello from a run that Flux applied")
