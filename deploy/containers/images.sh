# Sourced by base-image.sh, worker-image.sh and stack-images.sh (not run on its own): what
# the three do alike with the images they build. Needs podman and a `log` function.

# remove_replaced OLD_ID BUILT_BY: after a rebuild, the image OLD_ID that the new one
# replaced is left without a name (~200 MB each time). Removed when it is nameless now, was
# built by the script BUILT_BY (label io.article-worker.built-by) and no container uses it
# (podman refuses then, and it stays). Nothing else is pruned: the build stages' layer
# cache stays for the next build.
remove_replaced() {
  local old="$1" by="$2" err
  [[ -n "$old" ]] && podman image exists "$old" || return 0
  [[ "$(podman image inspect -f '{{len .RepoTags}}' "$old")" == 0 ]] || return 0
  if [[ "$(podman image inspect -f '{{index .Labels "io.article-worker.built-by"}}' "$old")" != "$by" ]]; then
    log "kept the replaced image ${old:0:12}: not labelled as built by $by"
  elif err="$(podman rmi "$old" 2>&1 >/dev/null)"; then
    log "removed the replaced image ${old:0:12}"
  else
    log "kept the replaced image ${old:0:12}: $err"
  fi
}
