"""What `prefect deploy` and `prefect block register` will load must import and be well-formed."""

from pathlib import Path

import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]


def test_every_prefect_yaml_entrypoint_imports_as_a_flow():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = spec["deployments"]
    assert {d["name"] for d in deployments} >= {"build-model", "nightly-refresh"}
    for deployment in deployments:
        entrypoint = deployment["entrypoint"]
        assert ":" not in entrypoint, "use module paths, not file paths"
        flow = load_flow_from_entrypoint(entrypoint)
        assert isinstance(flow, Flow)
        assert deployment["work_pool"]["name"] == "repotune-process"


def test_nightly_deployment_has_a_valid_cron():
    from prefect.client.schemas.schedules import CronSchedule

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    nightly = next(d for d in spec["deployments"] if d["name"] == "nightly-refresh")
    schedule = CronSchedule(**nightly["schedules"][0])
    assert schedule.cron == "0 3 * * *"


def test_blocks_module_exposes_registrable_blocks():
    from prefect.blocks.core import Block

    import repotune.blocks

    blocks = [getattr(repotune.blocks, name) for name in repotune.blocks.__all__]
    assert blocks and all(issubclass(block, Block) for block in blocks)
    schema = repotune.blocks.MLflowRegistry.model_json_schema()
    assert "tracking_uri" in schema["required"]
    assert repotune.blocks.MLflowRegistry.get_block_type_slug() == "mlflow-registry"


def test_served_deployment_carries_the_config_as_validated_parameters():
    from repotune.config import PipelineConfig, load_config
    from repotune.deployments.serve import pipeline_deployment

    config = load_config("cpu-tiny", ["train.lora_r=4"])
    deployment = pipeline_deployment(config, name="nightly", cron="0 3 * * *")
    assert deployment.name == "nightly"
    assert deployment.entrypoint == "repotune.flows.pipeline.build_model"
    assert deployment.schedules[0].schedule.cron == "0 3 * * *"
    restored = PipelineConfig.model_validate(deployment.parameters["config"])
    assert restored == config
    assert deployment.enforce_parameter_schema
