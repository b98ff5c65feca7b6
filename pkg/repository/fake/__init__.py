"""In-memory repository for upper layers' unit tests (`fake.repository.FakeRepository`)."""
