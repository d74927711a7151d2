#!/bin/sh
# The image's entry point: serve the months already in the data volume at once. With
# MOSAIQUE_DEMO_MONTHS (e.g. 2018-07,2018-08), first sample synthetic France products for those
# months (MOSAIQUE_DEMO_PIXEL_SIZE m, default 200) into $MOSAIQUE_DATA_DIR/inputs and build them
# (a month already built from the same inputs is skipped). Then runs the command (`mosaique serve`).
set -eu
if [ -n "${MOSAIQUE_DEMO_MONTHS:-}" ]; then
  inputs="$MOSAIQUE_DATA_DIR/inputs"
  mosaique sample --months "$MOSAIQUE_DEMO_MONTHS" --pixel-size "${MOSAIQUE_DEMO_PIXEL_SIZE:-200}" --zip --out "$inputs"
  for month in $(echo "$MOSAIQUE_DEMO_MONTHS" | tr ',' ' '); do
    mosaique build --month "$month" --input "$inputs" --no-progress || [ $? -eq 3 ]
  done
fi
exec "$@"
