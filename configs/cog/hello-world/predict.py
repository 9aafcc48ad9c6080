"""replicate/hello-world, locally: the smallest Cog model there is."""

from cog import BasePredictor, Input


class Predictor(BasePredictor):
    def setup(self) -> None:
        """Nothing to load: no weights."""

    def predict(self, text: str = Input(description="Text to prefix with 'hello '")) -> str:
        return "hello " + text
