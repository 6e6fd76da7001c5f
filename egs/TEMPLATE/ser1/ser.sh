#!/usr/bin/env bash
# The stages of every SER recipe (as ESPnet's egs2/TEMPLATE/asr1/asr.sh). Each
# egs/<corpus>/run.sh calls it from its recipe folder with the corpus's flags, then "$@":
#   ./ser.sh --corpus emodb --protocol kfold --fold_opts "--k 5 --n-dev-speakers 1" "$@"
# Options are `--name value` (utils/parse_options.sh; later ones win). A list is one quoted,
# space-separated word: --snrs "20 15 10", --systems "baseline_clean trnet". An *_opts
# option is an option string handed on to one command (split at spaces).
# `./run.sh --help` prints every option with the value in force.
#
#   stage 0  local/data.sh          corpus (or a generated one) → data/<corpus>, data/folds
#   stage 1  trnet noise-index      ESC-50 + MUSAN (trnet download without --noise_dir)
#   stage 2  trnet mix              SNR mixing and fbank in one pass → dump/<corpus>/<cond>
#            trnet corrupt          corruption conditions (--test_corruptions, the configs'
#                                   data.train_corruptions) → dump/<corpus>/<cond>
#   stage 3  trnet train-se, enhance, score-se → exp/se, dump/<corpus>/<cond>_enh
#   stage 4  trnet train            each system × fold (× member) → exp/<system>/fold<K>
#   stage 5  trnet decode           → exp/<system>/decode/<cond>/fold<K>
#   stage 6  trnet results          → exp/RESULTS.md, exp/compare.{md,tsv}, exp/figures
#   stage 7  trnet export, infer    → exp/<best system>/package (a model package), a demo on 3 test files
set -euo pipefail
. ./path.sh
. ./cmd.sh
. ./db.sh

# `log msg` prints the time and the file:line that called it.
log() { echo -e "$(date '+%F %T') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*"; }
die() { echo "$0: $*" >&2; exit 1; }

## General
stage=0                 # first stage to run (0-7)
stop_stage=7            # last stage to run
nj=2                    # parallel jobs: workers of stages 2-3, training jobs of stage 4, decodes
seed=0                  # seed of the generated corpus, kfold folds, mixing, scoring, training
device=auto             # auto | cpu | cuda (SE, training, decoding)
deterministic=true      # same numbers on Intel and AMD x86-64 CPUs (not NSNet2's onnxruntime): 1 thread, vendor-neutral code paths (trnet/determinism.py)
## Data (stage 0: local/data.sh)
corpus=                 # required: corpus name (trnet prep <corpus>, data/<corpus>, dump/<corpus>)
corpus_root=            # the corpus on disk; empty: db.sh's <CORPUS> (e.g. EMODB) if set
corpus_size=            # no corpus root: generate a corpus of this size (tiny | small; IEMOCAP); the size of --noise_dir generated too (empty: small)
protocol=speaker        # fold protocol (trnet folds): speaker | session | kfold | official
prep_opts=              # more options of trnet prep, e.g. "--map calm=neu"
fold_opts=              # more options of trnet folds, e.g. "--k 5 --n-dev-speakers 1"
## Noise and mixing (stages 1-2)
noise_dir=${NOISE_DIR}  # holds ESC-50-master/ and musan/; empty: download (generated: db/generated); "generated": make GENERATED noise corpora (of --corpus_size) in db/generated
snrs="20 15 10 5 0"     # SNRs (dB) of the noisy conditions; clean is always included
test_corruptions=       # corruption test conditions (stage 2: trnet corrupt; decoded, scored): kinds at their default level, "rev mp3 opus tel8k clip loss" = rev-0.6 mp3-24k opus-24k tel8k clip-0.1 loss-0.1, or full names ("rev-0.9 clip-0.3"); empty: none (docs/corruptions.md)
rir_dir=                # RIRs of rev-* conditions (RIRS_NOISES or any folder of wavs: trnet rir-index); empty: simulated rooms per rev condition (trnet make-rirs into db/rirs)
## Systems (stages 3-6)
conf_dir=               # <system>.yaml and se.yaml; empty: conf (generated corpus: conf/slim)
se_config=              # SE front end; empty: pretrained NSNet2 (conf/se_nsnet2.yaml), trained CRN ($conf_dir/se.yaml) on the generated corpus
se_compare=             # more SE model dirs (e.g. "exp/se_crn", another recipe's exp/se) scored beside exp/se in stage 3's table (exp/se/compare.tsv)
systems="baseline_clean baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high"  # what stages 4-6 train, decode and score
folds="1 2"             # folds to train and test
ensemble=               # models per fold (train.ensemble: seeds seed..seed+K-1, posteriors averaged); empty: each config's
## Package (stage 7)
export_system=          # the system stage 7 packages; empty: of $systems, the best mean dev UAR over the folds and the dev conditions (trnet plan --field best)
## Scale-out (job backends: cmd.sh)
split_jobs=0            # > 1: stages 2-3 run trnet mix, enhance and score-se as this many array jobs (train_cmd; empty: utils/run.pl), then merge them (--from-splits: one job's features, CMVN and scores); train-se stays one job
ngpu=0                  # training processes per node: > 1 starts trnet train through torchrun (DDP; with --device cpu: gloo processes)
num_nodes=1             # nodes per training job (torchrun rendezvous at --master_addr; cuda_cmd must be utils/slurm.pl)
master_addr=            # host of the rendezvous when num_nodes > 1 (e.g. the first node of the allocation)
master_port=29500       # rendezvous port of fold K: master_port + K
help_message="Usage: ./run.sh [--name value ...] (egs/<corpus>/run.sh → egs/TEMPLATE/ser1/ser.sh)
Lists are one quoted, space-separated word (--snrs \"20 15 10\"). Options, with the values in force:"
. utils/parse_options.sh

[ -n "$corpus" ] || die "--corpus is required (run.sh gives it)"
db_var=${corpus^^}
[ -n "$corpus_root" ] || corpus_root=${!db_var:-}
generated=false
if [ -z "$corpus_root" ]; then
  [ -n "$corpus_size" ] || die "--corpus_root is required: the $corpus corpus (or $db_var in db.sh; layouts: docs/corpora.md)"
  generated=true
  [ -n "$noise_dir" ] || noise_dir=db/generated   # the generated corpus comes with its noise
fi
if [ -z "$conf_dir" ]; then
  if $generated; then conf_dir=conf/slim; else conf_dir=conf; fi
fi
ensemble_opt=()
[ -z "$ensemble" ] || ensemble_opt=(--ensemble "$ensemble")
if [ -z "$se_config" ]; then
  # the trained CRN beats NSNet2 on the generated corpus's synthetic voices; on real speech
  # the pretrained one is far better (docs/se.md)
  if $generated; then se_config=$conf_dir/se.yaml; else se_config=conf/se_nsnet2.yaml; fi
fi
log "corpus $corpus, configs $conf_dir, SE $se_config, folds $folds ($protocol), SNRs $snrs"

if [ "$deterministic" = true ]; then export TRNET_DETERMINISTIC=1; else export TRNET_DETERMINISTIC=0; fi

data=data/$corpus
dump=dump/$corpus
read -ra snr_list <<< "$snrs"
test_conditions=(clean)   # what stages 3 (SE scores), 5 and 6 report
for noise in esc50 musan; do
  for snr in "${snr_list[@]}"; do test_conditions+=("${noise}_$snr"); done
done

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

# `fold_ranges`: $folds as JOB=A:B ranges of consecutive folds ("1 2 3 5" → 1:3 5:5), the
# job arrays of a backend.
fold_ranges() {
  local f start= prev=
  for f in $(printf '%s\n' $folds | sort -n); do
    if [ -n "$prev" ] && [ "$f" -eq $((prev + 1)) ]; then prev=$f; continue; fi
    [ -z "$start" ] || echo "$start:$prev"
    start=$f prev=$f
  done
  [ -z "$start" ] || echo "$start:$prev"
}

# `plan OPTIONS`: trnet plan (trnet/plan.py), what the configs, the trained systems and a
# package say: the training order (each system after those its config depends on), which
# trained system stage 7 packages, a package's fold. It reads YAML and JSON and computes
# nothing: run without deterministic mode, whose torch set-up would cost seconds.
plan() { env -u TRNET_DETERMINISTIC trnet plan "$@"; }

# --test_corruptions as condition names (rev → rev-0.6, ...): what stages 5-6 decode and
# score besides $test_conditions
corrupt_tests=()
if [ -n "$test_corruptions" ]; then
  corrupt_names=$(plan --test-corruptions "$test_corruptions" --field test_corruptions) || exit 1
  read -ra corrupt_tests <<< "$corrupt_names"
fi
decode_conditions=("${test_conditions[@]}" "${corrupt_tests[@]}")

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "stage 0: data preparation ($corpus)"
  # Every corpus's local/data.sh takes these options (IEMOCAP's also generates a corpus).
  local/data.sh --corpus "$corpus" --corpus_root "$corpus_root" --corpus_size "$corpus_size" \
    --protocol "$protocol" --seed "$seed" --prep_opts "$prep_opts" --fold_opts "$fold_opts"
  utils/validate_data_dir.sh "$data"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "stage 1: noise corpora"
  # Run every time: make-corpus and download keep what is complete, and the index is
  # rebuilt from the corpora given now (the same files when nothing changed, so the
  # conditions mixed from them are kept; other noise makes stage 2 refuse them).
  noise_src=$noise_dir           # ESC-50-master/ and musan/ already on disk
  if [ "$noise_src" = generated ]; then  # GENERATED noise (ESC-50/MUSAN layout)
    # of the corpus size in force: a generated corpus made by stage 0 in db/generated is
    # the same one (made with this size), never replaced under data/$corpus
    noise_src=db/generated
    trnet make-corpus "$noise_src" --size "${corpus_size:-small}" --seed "$seed"
  elif [ -z "$noise_src" ]; then  # otherwise: resumable, checksum-verified download
    noise_src=downloads
    trnet download esc50 --dest "$noise_src"
    trnet download musan --dest "$noise_src"
  fi
  trnet noise-index --esc50 "$noise_src/ESC-50-master" --musan "$noise_src/musan" \
    --out data/noise
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  log "stage 2: SNR mixing and fbank features"
  # `trnet mix` mixes and extracts fbank in one pass: $dump/<condition>/ (wav + feats) for
  # clean and <noise-set>_<snr>: esc50_train (training noise), esc50_dev (dev), esc50
  # (matched test), musan (unmatched test). A condition complete with the same source,
  # noise and seed is kept; one made otherwise is refused.
  if [ "$split_jobs" -gt 1 ]; then
    # `mix_conditions NAME OPTIONS...`: trnet mix on each split of $data as a job array (at
    # most $nj at once; logs $splits/log/mix.NAME.<k>.log), each condition of a split in
    # $splits/<k>/; then $dump/<condition> from them (its scp files point into $splits)
    splits=$dump/split$split_jobs
    utils/split_data.sh --per-utt "$data" "$split_jobs"
    mix_conditions() {
      local name=$1; shift
      ${train_cmd:-utils/run.pl} --max-jobs-run "$nj" "JOB=1:$split_jobs" \
        "$splits/log/mix.$name.JOB.log" trnet mix "$data/split${split_jobs}utt/JOB" \
        "$splits/JOB" "$@" --noise-root data/noise --nj 1 --seed "$seed"
      trnet mix "$data" "$dump" "$@" --noise-root data/noise --seed "$seed" --from-splits "$splits"
    }
  else
    mix_conditions() {
      shift
      trnet mix "$data" "$dump" "$@" --noise-root data/noise --nj "$nj" --seed "$seed"
    }
  fi
  mix_conditions esc50_train --noise esc50_train --snr "${snr_list[@]}" clean
  for noise in esc50_dev esc50 musan; do
    mix_conditions "$noise" --noise "$noise" --snr "${snr_list[@]}"
  done
  # Corruption conditions (docs/corruptions.md): the --test_corruptions and those the
  # systems' configs draw in training (data.train_corruptions; `trnet plan` reads them),
  # by trnet corrupt (one job, --nj workers, also with --split_jobs), kept when made
  # with the same source, settings and seed. rev-* conditions draw RIRs from the index of
  # --rir_dir, or without it each from its own simulated set (one command each; the
  # others in one).
  corruptions=$(plan --conf-dir "$conf_dir" --systems "$systems" \
    --test-corruptions "$test_corruptions" --field corruptions) || exit 1
  if [ -n "$corruptions" ]; then
    log "corruption conditions: $corruptions"
    revs=$(plan --test-corruptions "$corruptions" --field rev_corruptions) || exit 1
    if [ -n "$revs" ] && [ -n "$rir_dir" ]; then
      trnet rir-index "$rir_dir" --out data/rir/index
    elif [ -n "$revs" ]; then
      trnet make-rirs db/rirs data/rir/simulated --condition $revs --seed "$seed"
    fi
    corrupt=(trnet corrupt "$data" "$dump" --nj "$nj" --seed "$seed")
    others=()   # those that read no RIRs: one command
    for condition in $corruptions; do
      [[ " $revs " == *" $condition "* ]] || others+=("$condition")
    done
    [ "${#others[@]}" -eq 0 ] || "${corrupt[@]}" --condition "${others[@]}"
    for condition in $revs; do   # each from its RIR index
      rirs=data/rir/index
      [ -n "$rir_dir" ] || rirs=data/rir/simulated/$condition
      "${corrupt[@]}" --condition "$condition" --rirs "$rirs"
    done
  fi
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "stage 3: speech enhancement (pretrain, freeze, enhance, score)"
  # A pretrained front end (se.model: nsnet2 | onnx; `trnet plan` asks the config)
  # is written to exp/se as a package, with no training and no training options. A
  # trainable one is trained on musan_speech (clean read speech: no SER speaker is ever
  # heard) + ESC-50 training-fold noise; for per-fold SE use
  # --speech data/folds/$protocol/fold<K>/train.
  train_se=(trnet train-se --config "$se_config" --out exp/se)
  se_pretrained=$(plan --se-config "$se_config" --field se_pretrained) || exit 1
  if [ "$se_pretrained" = false ]; then
    train_se+=(--speech musan_speech --noise esc50_train --dev-noise esc50_dev
      --noise-root data/noise --resume --device "$device")
  fi
  "${train_se[@]}"
  # every complete condition dir without _enh (complete _enh dirs are skipped); enhanced
  # audio and its fbank
  enhance=(trnet enhance "$dump" --model exp/se --seed "$seed" --device "$device")
  score_se=(trnet score-se "$dump" --out exp/se/scores --max-utts 20 --seed "$seed")
  if [ "$split_jobs" -gt 1 ]; then
    # array jobs (at most $nj at once): job K enhances the one job's batches K, K+N, ...
    # into $dump/split<N>enh/K/ and scores the sample's utterances K, K+N, ... into
    # exp/se/split<N>/K/; then the merges write what one job writes
    parts=$dump/split${split_jobs}enh
    ${train_cmd:-utils/run.pl} --max-jobs-run "$nj" "JOB=1:$split_jobs" \
      "$parts/log/enhance.JOB.log" "${enhance[@]}" --nj 1 --split "JOB/$split_jobs" \
      --split-root "$parts"
    "${enhance[@]}" --from-splits "$parts"
    if [ ! -f exp/se/scores.json ]; then
      parts=exp/se/split$split_jobs
      ${train_cmd:-utils/run.pl} --max-jobs-run "$nj" "JOB=1:$split_jobs" \
        "$parts/log/score_se.JOB.log" "${score_se[@]}" --nj 1 --split "JOB/$split_jobs" \
        --split-root "$parts" --conditions "${test_conditions[@]}"
      "${score_se[@]}" --from-splits "$parts" --conditions "${test_conditions[@]}"
    fi
  else
    "${enhance[@]}" --nj "$nj"
    [ -f exp/se/scores.json ] || "${score_se[@]}" --nj "$nj" --conditions "${test_conditions[@]}"
  fi
  if [ -n "$se_compare" ]; then  # the same seeded sample through each front end, side by side
    models=(--model exp/se)
    for dir in $se_compare; do
      [ -d "$dir" ] || die "--se_compare: $dir: no such SE model dir"
      models+=(--model "$dir")
    done
    trnet score-se "$dump" "${models[@]}" --out exp/se/compare --max-utts 20 --nj "$nj" \
      --seed "$seed" --device "$device" --conditions "${test_conditions[@]}"
  fi
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  # $systems, each after the systems its config depends on (also when not in $systems); a
  # dependency cycle or a missing config is an error before anything trains
  train_systems=$(plan --conf-dir "$conf_dir" --systems "$systems" --field order)
  log "stage 4: training ($train_systems) on folds $folds"
  # `trnet train`, or torchrun starting it $ngpu times per node on $num_nodes nodes (DDP:
  # nccl on GPUs, gloo with --device cpu); the rendezvous port of fold K is master_port + K.
  train=(trnet train)
  jobs_opts=()   # an ensemble fold: one job per member; under torchrun one job per fold
  if [ "$ngpu" -gt 1 ] || [ "$num_nodes" -gt 1 ]; then
    nproc=$(( ngpu > 1 ? ngpu : 1 ))
    jobs_opts=(--whole-folds)
    if [ "$num_nodes" -gt 1 ]; then
      [ -n "$master_addr" ] || die "--num_nodes $num_nodes needs --master_addr (the host of the first node)"
      train=(torchrun --nnodes "$num_nodes" --nproc_per_node "$nproc" --rdzv_backend c10d
        --rdzv_id "trnet-fold@FOLD@" --rdzv_endpoint "$master_addr:@PORT@" -m trnet train)
    else
      train=(torchrun --standalone --nproc_per_node "$nproc" -m trnet train)
    fi
  fi
  # `train_system SYSTEM FOLD MEMBER [RUNNER...]`: the one trnet train command of the
  # recipe, for SYSTEM on FOLD (MEMBER: only that member of an ensemble fold; -: the whole
  # fold), run by RUNNER (a command and its options)
  train_system() {
    local system=$1 fold=$2 member=$3 only=() cmd; shift 3
    [ "$member" = - ] || only=(--member "$member")
    cmd=("${train[@]//@FOLD@/$fold}")
    "$@" "${cmd[@]//@PORT@/$((master_port + fold))}" --config "$conf_dir/$system.yaml" --fold "$fold" \
      --data-root "data/folds/$protocol" --dump "$dump" --out "exp/$system/fold$fold" \
      --device "$device" --seed "$seed" --snrs "$snrs" "${ensemble_opt[@]}" "${only[@]}" --resume
  }
  backend=$train_cmd
  if [ "$ngpu" -gt 0 ]; then
    backend=$cuda_cmd
    [ -z "$backend" ] || backend+=" --gpu $ngpu"
  fi
  [ -z "$backend" ] || [ "$num_nodes" -le 1 ] || backend+=" --num-nodes $num_nodes"
  [ -n "$backend" ] || [ "$num_nodes" -le 1 ] || die "--num_nodes $num_nodes needs a cuda_cmd (cmd.sh) that starts the job on every node (utils/slurm.pl)"
  # The jobs (trnet plan --field jobs): one per system and fold, one per member of an
  # ensemble fold; each after the jobs of what its config reads (TRNet's fold K: every
  # member of Baseline-c's fold K, whose clean embeddings and records it reads). A fold
  # trained with the same config and inputs is kept, one trained otherwise refused; an
  # interrupted one continues from its last checkpoint. Logs:
  # exp/<system>/log/train.<fold>[.<member>].log
  jobs=exp/log/train.jobs
  mkdir -p exp/log
  quoted() { printf '%q ' "$@"; }
  plan --conf-dir "$conf_dir" --systems "$systems" --folds "$folds" "${ensemble_opt[@]}" \
    "${jobs_opts[@]}" --field jobs > "$jobs.plan"
  while read -r system fold member after; do
    name="training $system fold $fold" job_log=exp/$system/log/train.$fold
    [ "$member" = - ] || name+=" member $member" job_log+=.$member
    printf '%s\t%s\t%s\t%s\n' "$name" "$after" "$job_log.log" "$(train_system "$system" "$fold" "$member" quoted)"
  done < "$jobs.plan" > "$jobs"
  # Here: as soon as what a job waits for is done, up to $nj at once (one thread each).
  # With a backend (cmd.sh): in waves (the jobs whose waited-for jobs are in earlier waves),
  # each wave one job array of at most $nj at once.
  run_opts=()
  [ -z "$backend" ] || run_opts=(--backend "$backend")
  ( if [ "$nj" -gt 1 ]; then export OMP_NUM_THREADS=1; fi
    trnet run-jobs "$jobs" --nj "$nj" "${run_opts[@]}" )
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "stage 5: decoding"
  for system in $systems; do
    if [ -z "$decode_cmd" ]; then
      for fold in $folds; do
        in_background trnet decode "exp/$system/fold$fold" --dump "$dump" \
          --test-dir "data/folds/$protocol/fold$fold/test" --conditions "${decode_conditions[*]}" \
          --out "exp/$system/decode" --device "$device"
      done
    else  # job arrays over the folds; logs: exp/<system>/decode/log/decode.<fold>.log
      for range in $(fold_ranges); do
        in_background $decode_cmd --max-jobs-run "$nj" "JOB=$range" \
          "exp/$system/decode/log/decode.JOB.log" trnet decode "exp/$system/foldJOB" \
          --dump "$dump" --test-dir "data/folds/$protocol/foldJOB/test" \
          --conditions "${decode_conditions[*]}" --out "exp/$system/decode" --device "$device"
      done
    fi
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
if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ] && [ -d exp ]; then
  # the system with the best mean dev UAR over the folds (each fold's .done; test scores
  # never choose) among those whose dev UAR was measured on every dev condition, ensembles,
  # hybrids and the SVM included; or --export_system. trnet plan decides (trnet/plan.py).
  candidates=${export_system:-$systems}
  system=$(plan --systems "$candidates" --exp exp --folds "$folds" --field best)
  log "stage 7: export $system (mean dev UAR of each system below); trnet infer on three of its test utterances"
  plan --systems "$candidates" --exp exp --folds "$folds" --field dev_uar
  # its fold with the best dev UAR; --onnx adds ser*.onnx (and se.onnx)
  pkg=exp/$system/package
  [ -f "$pkg/manifest.json" ] || trnet export "exp/$system" -o "$pkg"
  if [ ! -f "exp/$system/infer_demo.tsv" ]; then
    fold=$(plan --package "$pkg" --field fold)
    demo=musan_${snr_list[-1]}   # unmatched noise, the lowest SNR
    head -n 3 "data/folds/$protocol/fold$fold/test/utt2spk" \
      | awk 'NR==FNR{keep[$1]; next} $1 in keep' - "$dump/$demo/wav.scp" > "exp/$system/infer_demo.scp"
    trnet infer "$pkg" "exp/$system/infer_demo.scp" --output "exp/$system/infer_demo.tsv"
  fi
  log "model package: $(pwd)/$pkg (card.md); on your own audio: trnet infer $pkg your_audio.wav"
fi
log "done"
