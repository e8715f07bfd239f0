package v1alpha1

// StoppedSlotsAnnotation, on an InPlaceSet, lists the slot indexes the user
// stopped ("3,7"): the set drains and deletes their pods and neither recreates
// them nor gives their index to another pod; the slot keeps its name, unit and
// volume claims. Removing an index starts the slot again under the same name.
// `kubectl cafe stop|start pod/<name>` edits it.
const StoppedSlotsAnnotation = "apps.cafe.dev/stopped-slots"
