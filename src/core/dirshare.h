/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_DIRSHARE_H
#define OCIBPF_DIRSHARE_H

#include "config.h"

/*
 * One bpffs_dir and one state_dir make one pair: `ocibpf gc` of a configuration removes
 * the pins no record of its state_dir names, and the collector of a state_dir reads the
 * sets of its configuration's bpffs_dir, so two configurations sharing either directory
 * would strip each other's containers of their policy or lose their audit records.
 *
 * Each names the other, by canonical path: <bpffs_dir>/state_dir/<HEX>/ (a directory
 * named for the state_dir: bpffs takes no files) and <state_dir>/bpffs_dir (a file). dirshare_check makes or checks both:
 * -EBUSY (err naming both configurations' directories) when one names another directory
 * whose configuration still runs a container; when it runs none, this configuration takes
 * the directories over. Cheap when the markers agree (two reads). state_dir must exist;
 * bpffs_dir is made when it is on a bpffs (when not, nothing is checked: no set can be
 * opened there). Called before a set is loaded, so a refused one pins nothing.
 */
int dirshare_check(const struct config *cfg, struct error *err);
/*
 * The state_dir bpffs_dir's marker names when it is not cfg's (state_dir edited while a
 * container of the old one runs: its poststop finds the run there), else NULL.
 */
char *dirshare_other_state(const struct config *cfg);
/* `ocibpf gc --unload` emptying bpffs_dir: its marker goes first. */
void dirshare_release_bpffs(const struct config *cfg);

#endif
