"""Fine-tuning data on the fixture repository: secrets never reach a tokenized training example."""

from tokenizers import Tokenizer

from tests.fixtures.repos import SECRETS, write_fixture_repo
from training.config import TrainConfig
from training.corpus import file_chunks
from training.repo_data import collect_repository, split_files
from training.train import PackedBatches


def test_secrets_never_appear_in_tokenized_training_examples(tmp_path, tiny_hf_checkpoint):
    tokenizer = Tokenizer.from_file(str(tiny_hf_checkpoint("llama", fim="starcoder") / "tokenizer.json"))
    train_files, held_out = split_files(collect_repository(write_fixture_repo(tmp_path)).files)
    config = TrainConfig(block_size=64, batch_size=4, fim_rate=0.5)
    batches = PackedBatches(file_chunks(train_files, tokenizer, config.block_size), tokenizer, config)
    decoded = [tokenizer.decode(row.tolist(), skip_special_tokens=False) for i in range(20) for row in batches.batch(i)]
    text = "".join(decoded)
    assert "def core_step_0" in text  # the training text is really there
    assert not any(secret in text or secret[:12] in text for secret in SECRETS)
    assert not any(f.text in text for f in held_out if len(f.text) > 40)
