"""``python -m pytest_ohpen.emulator.provider``: what Terraform starts as the plugin."""

from tf.runner import run_provider

from pytest_ohpen.emulator.provider.provider import EmbeddedAws

if __name__ == "__main__":
    run_provider(EmbeddedAws())
