#!/usr/bin/env bash
# The shared stages of every SER recipe (as ESPnet's egs2/TEMPLATE): sourced by
# egs/<corpus>/run.sh, which first sets its corpus defaults and defines `local_data_prep`
# (stage 0: corpus → data/<corpus> and data/folds/<protocol>). Every option below, and every
# variable run.sh set before sourcing, can be given as --name value.
#
#   0 data prep (local)   1 noise corpora   2 mixing + fbank   3 speech enhancement
#   4 training            5 decoding        6 scoring
set -euo pipefail

stage=${stage:-0}
stop_stage=${stop_stage:-6}
nj=${nj:-2}
seed=${seed:-0}
corpus=${corpus:?run.sh must set corpus}
noise_dir=${noise_dir:-${NOISE_DIR:-}}  # holds ESC-50-master/ and musan/; empty: download them
protocol=${protocol:-kfold}             # fold protocol (trnet folds --protocol)
folds=${folds:-"1 2"}                   # folds to train and test
snrs=${snrs:-"20 15 10 5 0"}            # noisy conditions (clean is always included)
systems=${systems:-"baseline_clean baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high"}
conf_dir=${conf_dir:-}                  # system configs; empty: conf (run.sh may choose)
device=${device:-auto}
help_message=${help_message:-"Usage: $0 [--stage N] [--stop_stage N] [--nj N] [--seed N]
  [--noise_dir DIR] [--protocol P] [--folds '1 2'] [--snrs '20 15 10 5 0'] [--systems '...']
  [--conf_dir DIR] [--device auto|cpu|cuda]"}
. utils/parse_options.sh

log() { echo -e "$(date '+%F %T') ($(basename "$0"):${BASH_LINENO[0]}) $*"; }

# `in_background cmd...` runs cmd as a background job, at most $nj at once (one torch thread
# each when nj > 1); `wait_background` waits for the rest. A failed job stops the recipe.
pids=()
in_background() {
  ( if [ "$nj" -gt 1 ]; then export OMP_NUM_THREADS=1; fi; "$@" ) &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$nj" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
}
wait_background() {
  for pid in "${pids[@]}"; do wait "$pid"; done
  pids=()
}

# Stage 0 for a corpus with a `trnet prep` parser; run.sh may define its own (IEMOCAP does,
# to generate a corpus). prep_opts: e.g. "--map calm=neu"; fold_opts: e.g. "--k 5".
if ! declare -F local_data_prep > /dev/null; then
  local_data_prep() {
    # shellcheck disable=SC2086  # option lists
    trnet prep "$corpus" "$corpus_root" "data/$corpus" ${prep_opts:-}
    # shellcheck disable=SC2086
    trnet folds "data/$corpus" data/folds --protocol "$protocol" ${fold_opts:-} --seed "$seed"
  }
fi
# run.sh may adjust defaults that depend on parsed options (e.g. the generated corpus).
if declare -F recipe_setup > /dev/null; then recipe_setup; fi
conf_dir=${conf_dir:-conf}
log "corpus $corpus, configs $conf_dir, folds $folds ($protocol), SNRs $snrs"

data=data/$corpus
dump=dump/$corpus
test_conditions="clean"   # what stages 3 (SE scores), 5 and 6 report
for noise in esc50 musan; do
  for snr in $snrs; do test_conditions="$test_conditions ${noise}_$snr"; done
done

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "stage 0: data preparation ($corpus)"
  local_data_prep
  utils/validate_data_dir.sh "$data"
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
  # $dump/<condition>/ for clean and <noise-set>_<snr>: esc50_train (training noise),
  # esc50_dev (dev), esc50 (matched test), musan (unmatched test). Complete conditions
  # (.done) are skipped, so a rerun only does what is missing.
  trnet mix "$data" "$dump" --noise esc50_train --snr $snrs clean \
    --noise-root data/noise --nj "$nj" --seed "$seed"
  for noise in esc50_dev esc50 musan; do
    trnet mix "$data" "$dump" --noise "$noise" --snr $snrs \
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
  trnet enhance "$dump" --model exp/se --nj "$nj" --seed "$seed" --device "$device"
  # shellcheck disable=SC2086  # a list of condition names
  [ -f exp/se/scores.json ] || trnet score-se "$dump" --out exp/se/scores --max-utts 20 \
    --nj "$nj" --seed "$seed" --conditions $test_conditions
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  log "stage 4: training ($systems) on folds $folds"
  # One chain per fold, Baseline-c first (its clean embeddings are the high-level target of
  # the TRNet systems); up to $nj chains at once, one thread each. A fold marked .done is
  # skipped; an interrupted one continues from its last checkpoint.
  train_chain() {
    local fold=$1 system
    for system in baseline_clean $(echo "$systems" | tr ' ' '\n' | grep -vx baseline_clean || true); do
      log "training $system fold $fold"
      ${train_cmd:-} trnet train --config "$conf_dir/$system.yaml" --fold "$fold" \
        --data-root "data/folds/$protocol" --dump "$dump" --out "exp/$system/fold$fold" \
        --device "$device" --seed "$seed" --snrs "$snrs" --resume
    done
  }
  for fold in $folds; do
    in_background train_chain "$fold"
  done
  wait_background
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: decoding"
  for system in $systems; do
    for fold in $folds; do
      in_background ${decode_cmd:-} trnet decode "exp/$system/fold$fold" --dump "$dump" \
        --test-dir "data/folds/$protocol/fold$fold/test" --conditions "$test_conditions" \
        --out "exp/$system/decode" --device "$device"
    done
  done
  wait_background
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "stage 6: scoring"
  # scores every exp/<system>/decode/<condition>/fold<K>/ (scores.json, confusion.tsv,
  # summary), then exp/RESULTS.md, exp/compare.{tsv,md} and exp/figures/*.png
  trnet results exp --seed "$seed"
  log "results: $(pwd)/exp/RESULTS.md"
fi
log "done"
