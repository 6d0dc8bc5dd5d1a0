from pathlib import Path

import pytest

from repotune.config import PipelineConfig, list_presets, load_config
from repotune.errors import ConfigError


def test_every_shipped_preset_loads_and_is_headed_by_its_command():
    names = list_presets()
    assert "cpu-tiny" in names
    for name in names:
        config = load_config(name)
        assert isinstance(config, PipelineConfig)
        from repotune.config import preset_path

        first = preset_path(name).read_text().splitlines()[0]
        assert first.startswith("# repotune run --preset " + name)


def test_overrides_are_typed_and_nested():
    config = load_config("cpu-tiny", ["train.lora_r=4", "source.include=['*.py', '*.pyi']"])
    assert config.train.lora_r == 4
    assert config.source.include == ["*.py", "*.pyi"]


def test_negative_learning_rate_names_the_field_and_the_fix():
    with pytest.raises(ConfigError) as err:
        load_config("cpu-tiny", ["train.learning_rate=-0.1"])
    text = str(err.value)
    assert "`train.learning_rate`" in text and "greater than 0" in text and "--set" in text


def test_unknown_field_is_rejected():
    with pytest.raises(ConfigError, match="train.lora_rank"):
        load_config("cpu-tiny", ["train.lora_rank=4"])


def test_heads_must_divide_hidden_size():
    with pytest.raises(ConfigError, match="num_heads"):
        load_config("cpu-tiny", ["base_model.num_heads=3"])


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="cpu-tiny"):
        load_config("no-such-preset")


def test_yaml_file_path_is_a_preset(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text("train:\n  lora_r: 2\n")
    assert load_config(str(path)).train.lora_r == 2


def test_training_hash_ignores_where_it_runs_but_not_what_it_trains():
    a = PipelineConfig()
    assert a.training_hash() == PipelineConfig(workspace="/elsewhere").training_hash()
    assert a.training_hash() != load_config(None, ["train.lora_r=2"]).training_hash()


def test_config_is_a_valid_prefect_flow_parameter_schema():
    from prefect.utilities.callables import parameter_schema

    from repotune.flows.pipeline import build_model

    schema = parameter_schema(build_model.fn).model_dump()
    assert "config" in schema["properties"]
    definitions = schema["definitions"]
    assert "learning_rate" in definitions["TrainConfig"]["properties"]
    assert definitions["TrainConfig"]["properties"]["learning_rate"]["exclusiveMinimum"] == 0
