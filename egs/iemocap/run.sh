#!/usr/bin/env bash
# IEMOCAP recipe for noise-robust SER: TRNet and its baselines.
#   ./run.sh --stage 0 --stop_stage 6
# With no --iemocap_root (and no IEMOCAP in db.sh) the recipe generates a small corpus in
# IEMOCAP's layout (plus ESC-50- and MUSAN-like noise) and runs on that.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. ./db.sh

stage=0
stop_stage=6
nj=2
seed=0
iemocap_root=$IEMOCAP        # empty: generate a corpus under db/generated
noise_dir=$NOISE_DIR         # holds ESC-50-master/ and musan/; empty: download them
corpus_size=small            # size of the generated corpus: tiny | small
protocol=speaker             # speaker (10 folds) | session (5 folds)
folds="1 2"                  # folds to train and test
snrs="20 15 10 5 0"          # noisy conditions (clean is always included)
systems="baseline_clean baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high"
conf_dir=                    # default: conf/slim on the generated corpus, conf otherwise
device=auto
help_message="Usage: $0 [--stage N] [--stop_stage N] [--iemocap_root DIR] [--noise_dir DIR]
  [--nj N] [--seed N] [--protocol speaker|session] [--folds '1 2'] [--snrs '20 15 10 5 0']
  [--systems '...'] [--conf_dir DIR] [--device auto|cpu|cuda] [--corpus_size tiny|small]"
. utils/parse_options.sh

generated=false
if [ -z "$iemocap_root" ]; then
  generated=true
  iemocap_root=db/generated/IEMOCAP_full_release
  [ -n "$noise_dir" ] || noise_dir=db/generated
fi
[ -n "$conf_dir" ] || { $generated && conf_dir=conf/slim || conf_dir=conf; }
log() { echo -e "$(date '+%F %T') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }
not_yet() { log "stage $1: not yet implemented"; exit 1; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "stage 0: data preparation"
  if $generated; then
    log "no --iemocap_root given: using a GENERATED corpus (db/generated, size $corpus_size)"
    trnet make-corpus db/generated --size "$corpus_size" --seed "$seed"
  fi
  trnet prep iemocap "$iemocap_root" data/iemocap
  trnet folds data/iemocap data/folds --protocol "$protocol"
  utils/validate_data_dir.sh data/iemocap
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: noise corpora"
  if [ -f data/noise/.done ]; then
    log "data/noise/.done exists: noise sets already indexed"
  else
    noise_src=$noise_dir           # ESC-50-master/ and musan/ already on disk
    if [ -z "$noise_src" ]; then   # otherwise: resumable, checksum-verified download
      noise_src=downloads
      trnet download esc50 --dest "$noise_src"
      trnet download musan --dest "$noise_src"
    fi
    trnet noise-index --esc50 "$noise_src/ESC-50-master" --musan "$noise_src/musan" \
      --out data/noise
    touch data/noise/.done
  fi
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: SNR mixing and fbank features"
  # dump/iemocap/<condition>/ for clean and <noise-set>_<snr>: esc50_train (training noise),
  # esc50_dev (dev), esc50 (matched test), musan (unmatched test). Complete conditions
  # (.done) are skipped, so a rerun only does what is missing.
  trnet mix data/iemocap dump/iemocap --noise esc50_train --snr $snrs clean \
    --noise-root data/noise --nj "$nj" --seed "$seed"
  for noise in esc50_dev esc50 musan; do
    trnet mix data/iemocap dump/iemocap --noise "$noise" --snr $snrs \
      --noise-root data/noise --nj "$nj" --seed "$seed"
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: speech enhancement (pretrain, freeze, enhance, score)"
  # SE trained on musan_speech (clean read speech: no SER speaker is ever heard) + ESC-50
  # training-fold noise; for per-fold SE use --speech data/folds/$protocol/fold<K>/train.
  trnet train-se --config "$conf_dir/se.yaml" --speech musan_speech --noise esc50_train \
    --dev-noise esc50_dev --noise-root data/noise --out exp/se --resume --device "$device"
  # every complete condition dir without _enh (complete _enh dirs are skipped)
  trnet enhance dump/iemocap --model exp/se --nj "$nj" --seed "$seed" --device "$device"
  [ -f exp/se/scores.json ] || trnet score-se dump/iemocap --out exp/se/scores --nj "$nj" --seed "$seed"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: training ($systems) on folds $folds"
  # Baseline-c first: its clean embeddings are the high-level target of the TRNet systems.
  # A fold marked .done is skipped; an interrupted one continues from its last checkpoint.
  for fold in $folds; do
    for system in baseline_clean $(echo "$systems" | tr ' ' '\n' | grep -vx baseline_clean || true); do
      log "training $system fold $fold"
      $train_cmd trnet train --config "$conf_dir/$system.yaml" --fold "$fold" \
        --data-root "data/folds/$protocol" --dump dump/iemocap --out "exp/$system/fold$fold" \
        --device "$device" --seed "$seed" --resume
    done
  done
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: decoding"
  conditions="clean"
  for noise in esc50 musan; do
    for snr in $snrs; do conditions="$conditions ${noise}_$snr"; done
  done
  for system in $systems; do
    for fold in $folds; do
      $decode_cmd trnet decode "exp/$system/fold$fold" --dump dump/iemocap \
        --test-dir "data/folds/$protocol/fold$fold/test" --conditions "$conditions" \
        --out "exp/$system/decode" --device "$device"
    done
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "stage 6: scoring"
  # scores every exp/<system>/decode/<condition>/fold<K>/ (scores.json, confusion.tsv,
  # summary), then exp/RESULTS.md, exp/compare.{tsv,md} and exp/figures/*.png
  trnet results exp --seed "$seed"
  log "results: $(pwd)/exp/RESULTS.md"
fi
log "done"
