package main

// Placeholders replaced by their issues' files.
